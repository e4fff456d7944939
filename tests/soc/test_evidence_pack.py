"""The evidence pack: layout, verification against tampering, no sensitive value or key material
inside, SM2 signatures another implementation accepts, and the export as an audit event."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest

from classifier.settings import get_settings
from tests.soc.evidence_world import RESIDENT_ID, run_cli, world  # noqa: F401  (the crafted state, a fixture)

MOBILE = "13812340007"
NAME = "张三7"


@pytest.fixture()
def pack(world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SHUWEI_EVIDENCE__PDF", "off")  # the PDF has its own test (a real browser)
    get_settings.cache_clear()
    out = tmp_path / "out" / "pack.zip"
    code, text = run_cli("evidence", "export", "--out", str(out), "--system", "某市政务数据共享交换平台",
                      "--from", "2026-03-01", "--to", "2026-03-31", "--by", "合规官张敏")
    assert code == 0, text
    assert "wrote" in text and "sha256" in text and "pack.pubkey.json" in text
    return out


def _rewrite(src: Path, dst: Path, *, change: dict[str, bytes] | None = None, drop: str | None = None,
             add: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            if name != drop:
                zout.writestr(name, (change or {}).get(name, zin.read(name)))
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    (dst.with_name(dst.stem + ".pubkey.json")).write_bytes(src.with_name(src.stem + ".pubkey.json").read_bytes())
    return dst


def _verify(path: Path) -> tuple[int, str]:
    return run_cli("evidence", "verify", str(path))


def test_pack_layout_and_records(pack: Path) -> None:
    with zipfile.ZipFile(pack) as zf:
        names = set(zf.namelist())
        record = json.loads(zf.read("items/8.1.4.3c/record.json"))
        manifest = json.loads(zf.read("manifest.json"))
        html = zf.read("report.html").decode()
        csv_text = zf.read("items/43697-5.6/classification.classification_inventory.csv").decode("utf-8-sig")
    assert {"report.html", "report.json", "manifest.json", "signature.json"} <= names
    assert "report.pdf" not in names and "evidence.pdf is off" in html
    assert set(record) >= {"item", "requirement", "collectors", "judgement", "reason", "record_text", "files"}
    assert record["judgement"] == "符合" and record["collectors"] == ["audit_integrity"]
    assert all(f"items/8.1.4.3c/{f}" in names for f in record["files"])
    listed = {f["path"] for f in manifest["files"]}
    assert listed == names - {"manifest.json", "signature.json"}
    assert all(len(f["sha256"]) == 64 and len(f["sm3"]) == 64 and f["size"] > 0 for f in manifest["files"])
    assert "某市政务数据共享交换平台" in html and "2026-03-01" in html and "2026-03-31" in html
    assert "+08:00 (Asia/Shanghai)" in html                       # generated-at in the configured zone
    assert "<svg" in html and "测评结果汇总" in html and "Summary of results" in html
    assert "{'" not in html and "None" not in html               # no Python artefacts for the assessor
    assert csv_text.splitlines()[0].startswith("dataset,field,entity,grade")


def test_untouched_pack_verifies(pack: Path) -> None:
    code, out = _verify(pack)
    assert code == 0, out
    assert out.startswith("ok: ") and "Ed25519 and SM2 signatures verify under key evidence v1" in out


def test_one_byte_changed_is_named(pack: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(pack) as zf:
        data = bytearray(zf.read("items/8.1.4.8/record.json"))
    data[data.index(b"\xe7\xac\xa6")] ^= 1  # one byte of the judgement 符合
    code, out = _verify(_rewrite(pack, tmp_path / "t.zip", change={"items/8.1.4.8/record.json": bytes(data)}))
    assert code == 1
    assert "changed: items/8.1.4.8/record.json" in out and out.count("changed:") == 1


def test_added_and_removed_files_are_named(pack: Path, tmp_path: Path) -> None:
    code, out = _verify(_rewrite(pack, tmp_path / "a.zip", add={"items/8.1.4.8/extra.csv": b"a,b\n"}))
    assert code == 1 and "added: items/8.1.4.8/extra.csv" in out
    code, out = _verify(_rewrite(pack, tmp_path / "r.zip", drop="items/8.1.4.3c/audit_integrity.json"))
    assert code == 1 and "missing: items/8.1.4.3c/audit_integrity.json" in out
    code, out = _verify(_rewrite(pack, tmp_path / "s.zip", drop="signature.json"))
    assert code == 1 and "missing signature: signature.json" in out


def test_swapped_signature_and_rewritten_manifest_fail(pack: Path, tmp_path: Path, world: Path) -> None:
    with zipfile.ZipFile(pack) as zf:
        signature = json.loads(zf.read("signature.json"))
        manifest = zf.read("manifest.json")
    # Another pack's signature (the manifest differs: another period) under the same key.
    other = tmp_path / "other.zip"
    assert run_cli("evidence", "export", "--out", str(other), "--from", "2026-02-01", "--to", "2026-03-31")[0] == 0
    with zipfile.ZipFile(other) as zf:
        swapped = zf.read("signature.json")
    code, out = _verify(_rewrite(pack, tmp_path / "sw.zip", change={"signature.json": swapped}))
    assert code == 1
    assert "bad signature: Ed25519" in out and "bad signature: SM2" in out
    # A forger edits a file, fixes the manifest and re-signs with a key of their own.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    doc = json.loads(manifest)
    doc["files"][0]["sha256"] = "0" * 64
    forged = json.dumps(doc).encode()
    signature["ed25519"]["signature"] = base64.b64encode(Ed25519PrivateKey.generate().sign(forged)).decode()
    code, out = _verify(_rewrite(pack, tmp_path / "fg.zip", change={
        "manifest.json": forged, "signature.json": json.dumps(signature).encode()}))
    assert code == 1 and "bad signature: Ed25519" in out and f"changed: {doc['files'][0]['path']}" in out


def test_missing_public_key_is_named(pack: Path, tmp_path: Path) -> None:
    lone = tmp_path / "lone.zip"
    lone.write_bytes(pack.read_bytes())
    code, out = _verify(lone)
    assert code == 1 and "missing public key" in out and "--public-key" in out
    code, out = run_cli("evidence", "verify", str(lone), "--public-key", str(pack.with_name("pack.pubkey.json")))
    assert code == 0, out


def test_no_raw_value_and_no_key_material_in_the_pack(pack: Path, world: Path) -> None:
    from crypto.keyring import Keyring
    from crypto.primitives import derive

    ring = Keyring.open(get_settings())
    secrets_ = [os.environ["SHUWEI_MASTER_KEY"]]
    for key_id in ("default", "evidence"):
        material = ring.material(key_id, 1)
        seed = derive(material, "shuwei/evidence-ed25519", 32)
        secrets_ += [material.hex(), base64.b64encode(material).decode(), seed.hex(), base64.b64encode(seed).decode()]
    wrapped = json.loads((world / "keyring.json").read_text())["keys"]["default"]["versions"][0]["wrapped"]
    raw_values = [RESIDENT_ID, RESIDENT_ID.lower(), MOBILE, NAME]
    blobs = [pack.read_bytes(), pack.with_name("pack.pubkey.json").read_bytes()]
    with zipfile.ZipFile(pack) as zf:
        blobs += [zf.read(n) for n in zf.namelist()]
    # The samples are in the pack, masked: the search below looks where the values would be.
    assert any("1101**********002X" in b.decode("utf-8", "replace") for b in blobs)
    for blob in blobs:
        text = blob.decode("utf-8", "replace")
        for needle in raw_values + secrets_ + [wrapped]:
            assert needle not in text


def test_export_is_an_audit_event_with_the_pack_sha256(pack: Path, world: Path) -> None:
    events = [json.loads(line) for line in (world / "audit" / "outbox.jsonl").read_text().splitlines()]
    export = [e for e in events if e["action"] == "export" and e["extra"].get("operation") == "evidence_pack"]
    assert len(export) == 1
    assert export[0]["extra"]["sha256"] == hashlib.sha256(pack.read_bytes()).hexdigest()
    assert export[0]["user"] == "合规官张敏" and export[0]["dest"] == str(pack)


def test_sm2_signature_verifies_under_an_independent_implementation(pack: Path) -> None:
    """gmssl (not used at run time: its nonce comes from `random`) checks what gmalg signed."""
    from gmssl import sm2

    with zipfile.ZipFile(pack) as zf:
        manifest, signature = zf.read("manifest.json"), json.loads(zf.read("signature.json"))
    key = json.loads(pack.with_name("pack.pubkey.json").read_text())
    assert key["sm2"] == signature["sm2"]["public_key"] and key["sm2_uid"] == "1234567812345678"
    checker = sm2.CryptSM2(private_key="", public_key=key["sm2"][2:])  # without the 04 prefix
    assert checker.verify_with_sm3(signature["sm2"]["signature"], manifest)
    assert not checker.verify_with_sm3(signature["sm2"]["signature"], manifest + b" ")
