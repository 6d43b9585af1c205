#!/usr/bin/env python3
"""TEST DOUBLE of a kubeconfig exec credential plugin (such as kubelogin or
gke-gcloud-auth-plugin): it records what it was given and prints an ExecCredential.

Environment it reads (set through the kubeconfig's exec ``env``, as a user would):
``DOUBLE_RECORD`` a file to write {"info": KUBERNETES_EXEC_INFO, "argv", "env", "stdin_tty"}
to; ``DOUBLE_TOKEN`` the token to answer with; ``DOUBLE_CERT`` and ``DOUBLE_KEY`` PEM
files to answer with instead; ``DOUBLE_API_VERSION`` the apiVersion to answer with
(default: the one it was asked for); ``DOUBLE_EXIT`` an exit status; ``DOUBLE_PRINT``
literal text to print instead of an ExecCredential.
"""

import json
import os
import sys
from pathlib import Path


def main() -> int:
    info = json.loads(os.environ.get("KUBERNETES_EXEC_INFO") or "{}")
    record = os.environ.get("DOUBLE_RECORD")
    if record:
        shown_env = {k: v for k, v in os.environ.items() if k.startswith("DOUBLE_")}
        doc = {"info": info, "argv": sys.argv[1:], "env": shown_env, "stdin_tty": os.isatty(0)}
        Path(record).write_text(json.dumps(doc))
    if "DOUBLE_PRINT" in os.environ:
        sys.stdout.write(os.environ["DOUBLE_PRINT"])
        return 0
    if os.environ.get("DOUBLE_EXIT"):
        sys.stderr.write("exec plugin double: asked to fail\n")
        return int(os.environ["DOUBLE_EXIT"])
    status: dict[str, str] = {}
    if os.environ.get("DOUBLE_TOKEN"):
        status["token"] = os.environ["DOUBLE_TOKEN"]
    if os.environ.get("DOUBLE_CERT"):
        status["clientCertificateData"] = Path(os.environ["DOUBLE_CERT"]).read_text()
        status["clientKeyData"] = Path(os.environ["DOUBLE_KEY"]).read_text()
    version = os.environ.get("DOUBLE_API_VERSION") or info.get("apiVersion")
    print(json.dumps({"apiVersion": version, "kind": "ExecCredential", "status": status}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
