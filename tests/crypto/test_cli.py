"""`shuwei mask` and `shuwei crypto`: happy paths, exit codes, no traceback, no secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from soc.cli.main import app

runner = CliRunner()
REC = {"姓名": "张三", "联系电话": "13812345678", "公民身份号码": "11010519491231002X"}


def run(args: list[str], stdin: str = ""):
    return runner.invoke(app, args, input=stdin)


def jsonl(*records: dict) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def test_mask_records_keeps_order_and_masks(data_dir: Path, master_key: bytes) -> None:
    recs = [dict(REC, 序号=i) for i in range(3)]
    res = run(["mask", "records", "--dataset", "adhoc", "--role", "analyst", "--decisions"], jsonl(*recs))
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert [r["序号"] for r in lines] == [0, 1, 2]
    assert lines[0]["联系电话"] == "138****5678" and lines[0]["公民身份号码"] == "110105********002X"
    summary = json.loads(res.stderr.strip().splitlines()[-1])
    assert summary["decisions"]["姓名"]["strategy"] == "mask_name"


def test_mask_records_bad_line_exit_2(data_dir: Path) -> None:
    res = run(["mask", "records", "--dataset", "x", "--role", "analyst"], '{"a": 1}\nnot json\n')
    assert res.exit_code == 2 and "<stdin>:2: not valid JSON" in res.stderr and res.stdout == ""


def test_encrypt_decrypt_rotate_rewrap_destroy(data_dir: Path, master_key: bytes) -> None:
    assert run(["crypto", "keys", "create", "default"]).exit_code == 0
    enc = run(["crypto", "encrypt", "--dataset", "pop", "--fields", "姓名,联系电话", "--blind-index"], jsonl(REC))
    assert enc.exit_code == 0, enc.output
    row = json.loads(enc.stdout)
    assert row["姓名"].startswith("sw1:SM4-GCM:default:1:") and len(row["联系电话_bidx"]) == 32
    dec = run(["crypto", "decrypt", "--dataset", "pop", "--fields", "姓名,联系电话"], enc.stdout)
    assert json.loads(dec.stdout)["联系电话"] == "13812345678"
    moved = run(["crypto", "decrypt", "--dataset", "pop", "--fields", "联系电话"],
                jsonl({"联系电话": row["姓名"]}))
    assert moved.exit_code == 2 and "field '联系电话'" in moved.stderr and "Traceback" not in moved.output
    assert run(["crypto", "keys", "rotate", "default"]).exit_code == 0
    rew = run(["crypto", "keys", "rewrap", "--dataset", "pop", "--fields", "姓名,联系电话"], enc.stdout)
    assert json.loads(rew.stdout)["姓名"].startswith("sw1:SM4-GCM:default:2:")
    assert run(["crypto", "keys", "destroy", "default", "--version", "1"]).exit_code == 2  # needs --yes
    assert run(["crypto", "keys", "destroy", "default", "--version", "1", "--yes"]).exit_code == 0
    gone = run(["crypto", "decrypt", "--dataset", "pop", "--fields", "姓名"], enc.stdout)
    assert gone.exit_code == 2 and "destroyed" in gone.stderr
    ok = run(["crypto", "decrypt", "--dataset", "pop", "--fields", "姓名"], rew.stdout)
    assert json.loads(ok.stdout)["姓名"] == "张三"
    listing = json.loads(run(["crypto", "keys", "list", "--format", "json"]).stdout)
    assert [(r["version"], r["state"]) for r in listing] == [(1, "destroyed"), (2, "active")]
    assert master_key.hex() not in json.dumps(listing)


def test_tokenize_detokenize(data_dir: Path, master_key: bytes) -> None:
    assert run(["crypto", "keys", "create", "fpe"]).exit_code == 0
    tok = run(["crypto", "tokenize", "--fields", "公民身份号码", "--keep-first", "6", "--cipher", "SM4"], jsonl(REC))
    assert tok.exit_code == 0, tok.output
    value = json.loads(tok.stdout)["公民身份号码"]
    assert value[:6] == "110105" and value.endswith("X") and value != REC["公民身份号码"]
    back = run(["crypto", "detokenize", "--fields", "公民身份号码", "--keep-first", "6", "--cipher", "SM4"], tok.stdout)
    assert json.loads(back.stdout)["公民身份号码"] == REC["公民身份号码"]
    unknown = run(["crypto", "detokenize", "--fields", "公民身份号码", "--key", "nope"], tok.stdout)
    assert unknown.exit_code == 2 and "unknown key 'nope'" in unknown.stderr
    short = run(["crypto", "tokenize", "--fields", "x"], jsonl({"x": "12345"}))
    assert short.exit_code == 2 and "<stdin>:1: field 'x'" in short.stderr


def test_subprocess_wrong_master_key_is_one_line_exit_2(data_dir: Path, master_key: bytes) -> None:
    assert run(["crypto", "keys", "create", "default"]).exit_code == 0
    wrong = os.urandom(32).hex()
    env = dict(os.environ, SHUWEI_MASTER_KEY=wrong, SHUWEI_DATA_DIR=str(data_dir))
    proc = subprocess.run([sys.executable, "-m", "soc.cli.main", "crypto", "keys", "list"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1].startswith("error: ") and "does not match" in proc.stderr
    assert "Traceback" not in proc.stderr and wrong not in proc.stderr


def test_mask_file_cli_refuses_below_k(data_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "people.jsonl"
    src.write_text(jsonl(*({"出生日期": f"19{50 + i}-01-01", "性别": "男", "姓名": "张三"} for i in range(3))), encoding="utf-8")
    res = run(["mask", "file", str(src), str(tmp_path / "out.jsonl"), "--role", "analyst", "--format", "json"])
    assert res.exit_code == 1 and "below the required 5" in res.stderr
    assert not (tmp_path / "out.jsonl").exists()
    forced = run(["mask", "file", str(src), str(tmp_path / "out.jsonl"), "--role", "analyst", "--force"])
    assert forced.exit_code == 0 and (tmp_path / "out.jsonl").exists()


def key_ids() -> set[str]:
    return {r["key_id"] for r in json.loads(run(["crypto", "keys", "list", "--format", "json"]).stdout)}


def audit_events(outbox: Path, action: str) -> list[dict]:
    return [e for e in map(json.loads, outbox.read_text(encoding="utf-8").splitlines()) if e["action"] == action]


def test_explicit_operations_never_create_a_key(data_dir: Path, master_key: bytes) -> None:
    """Keys are an administrator's `keys create`; a typo in --key is refused, forward or reverse."""
    for args in (["tokenize", "--fields", "x", "--key", "fep"], ["detokenize", "--fields", "x", "--key", "fep"],
                 ["encrypt", "--dataset", "pop", "--fields", "x", "--key", "fep"]):
        res = run(["crypto", *args], jsonl({"x": "13812345678"}))
        assert res.exit_code == 2 and res.stdout == "", (args, res.output)
        assert "unknown key 'fep'" in res.stderr and "shuwei crypto keys create fep" in res.stderr
        assert "Traceback" not in res.output
    assert key_ids() == set()


def test_detokenize_after_rotation_needs_the_version(data_dir: Path, master_key: bytes, outbox: Path) -> None:
    assert run(["crypto", "keys", "create", "fpe"]).exit_code == 0
    v1 = run(["crypto", "tokenize", "--fields", "联系电话"], jsonl(REC))
    assert v1.exit_code == 0 and "version 1" in v1.stderr
    rotated = run(["crypto", "keys", "rotate", "fpe"])
    assert rotated.exit_code == 0 and "--version 1" in rotated.stdout and "rewrap" in rotated.stdout
    v2 = run(["crypto", "tokenize", "--fields", "联系电话"], jsonl(REC))
    assert v2.exit_code == 0 and "version 2" in v2.stderr
    assert json.loads(v1.stdout)["联系电话"] != json.loads(v2.stdout)["联系电话"]
    for tokens in (v1.stdout, v2.stdout):  # neither may come back as digits of the other version
        refused = run(["crypto", "detokenize", "--fields", "联系电话"], tokens)
        assert refused.exit_code == 2 and refused.stdout == ""
        assert "versions 1 (decrypt-only), 2 (active)" in refused.stderr and "--version" in refused.stderr
    for version, tokens in (("1", v1.stdout), ("2", v2.stdout)):
        back = run(["crypto", "detokenize", "--fields", "联系电话", "--version", version], tokens)
        assert back.exit_code == 0 and json.loads(back.stdout)["联系电话"] == REC["联系电话"]
    assert run(["crypto", "detokenize", "--fields", "联系电话", "--version", "7"], v1.stdout).exit_code == 2
    moved = run(["crypto", "keys", "retokenize", "--fields", "联系电话", "--from-version", "1"], v1.stdout)
    assert moved.exit_code == 0 and "from key 'fpe' version 1 to version 2" in moved.stderr
    assert moved.stdout == v2.stdout  # the migration gives what tokenizing under v2 gives
    made = audit_events(outbox, "mask")
    assert [e["extra"]["key_version"] for e in made if e["extra"]["operation"] == "tokenize"] == [1, 2]
    released = [e for e in audit_events(outbox, "decrypt") if e["extra"]["operation"] == "detokenize"]
    assert [e["extra"]["key_version"] for e in released] == [1, 2]


def test_destroying_the_active_version_needs_a_rotation_or_force(data_dir: Path, master_key: bytes,
                                                                 outbox: Path) -> None:
    assert run(["crypto", "keys", "create", "default"]).exit_code == 0
    refused = run(["crypto", "keys", "destroy", "default", "--version", "1", "--yes"])
    assert refused.exit_code == 2 and "active version" in refused.stderr and "rotate first" in refused.stderr
    assert "Traceback" not in refused.output
    enc = run(["crypto", "encrypt", "--dataset", "pop", "--fields", "姓名"], jsonl(REC))
    assert run(["crypto", "decrypt", "--dataset", "pop", "--fields", "姓名"], enc.stdout).exit_code == 0
    forced = run(["crypto", "keys", "destroy", "default", "--version", "1", "--yes", "--force-active"])
    assert forced.exit_code == 0 and "no version is active" in forced.stdout
    destroyed = [e for e in audit_events(outbox, "config_change") if e["extra"]["operation"] == "key_destroy"]
    assert len(destroyed) == 1 and destroyed[0]["extra"]["force_active"] is True
    gone = run(["crypto", "decrypt", "--dataset", "pop", "--fields", "姓名"], enc.stdout)
    assert gone.exit_code == 2 and "destroyed" in gone.stderr
    no_writer = run(["crypto", "encrypt", "--dataset", "pop", "--fields", "姓名"], jsonl(REC))
    assert no_writer.exit_code == 2 and "no active version" in no_writer.stderr


def test_unknown_algorithm_or_cipher_is_one_line(data_dir: Path, master_key: bytes) -> None:
    assert run(["crypto", "keys", "create", "default"]).exit_code == 0
    assert run(["crypto", "keys", "create", "fpe"]).exit_code == 0
    cases = [(["encrypt", "--dataset", "pop", "--fields", "姓名", "--algorithm", "DES"], ("SM4-GCM", "AES-256-GCM")),
             (["tokenize", "--fields", "姓名", "--cipher", "DES"], ("AES", "SM4")),
             (["detokenize", "--fields", "姓名", "--cipher", "3DES"], ("AES", "SM4"))]
    for args, allowed in cases:
        res = run(["crypto", *args], jsonl(REC))
        assert res.exit_code == 2 and res.stdout == "" and "Traceback" not in res.output, res.output
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and all(a in lines[0] for a in allowed), lines
    ok = run(["crypto", "encrypt", "--dataset", "pop", "--fields", "姓名", "--algorithm", "aes-256-gcm"], jsonl(REC))
    assert ok.exit_code == 0 and json.loads(ok.stdout)["姓名"].startswith("sw1:AES-256-GCM:default:1:")
