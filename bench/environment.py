"""What a Lambda container of each function sees: its folder, the layer, the template's environment."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "miniauth"
PYTHON = os.environ.get("BENCH_PYTHON") or str(ROOT / ".venv" / "bin" / "python")
OPEN_API = ("ApplyTokenFunction", "InquiryUserInfoFunction", "RevokeFunction")


@dataclass
class Function:
    logical_id: str
    code_dir: str
    environment: dict[str, str]


class Setup:
    """Merchant and wallet keys in a scratch folder, and each function's environment."""

    def __init__(self, scratch: Path) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        from miniauth.signing import load_private_key  # noqa: F401  (fails early without the venv)
        from miniauth.wallet_keys import key_document
        from miniauth_tools.local.template import Template

        def pems() -> tuple[str, str]:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()
            public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()
            return private, public

        self.merchant_private_pem, self.merchant_public_pem = pems()
        wallet_private, _ = pems()
        wallet_file = scratch / "wallet-keys.json"
        wallet_file.write_text(key_document({"1": wallet_private}, "1"))
        self.base = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_SESSION_TOKEN": "bench",
            "AWS_LAMBDA_FUNCTION_NAME": "bench",
        }
        template = Template(ROOT / "template.yaml")
        self.functions = []
        for spec in template.functions():
            environment = {**spec.environment, **self.base, "WALLET_KEY_FILE": str(wallet_file),
                           "WALLET_KEY_SECRET": "", "WALLET_KEY_DOCUMENT": ""}
            environment.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
            self.functions.append(Function(spec.logical_id, str(spec.code_uri), environment))

    def function(self, logical_id: str) -> Function:
        return next(f for f in self.functions if f.logical_id == logical_id)

    def keys(self) -> dict[str, str]:
        return {"merchant_private_pem": self.merchant_private_pem, "merchant_public_pem": self.merchant_public_pem}


def dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))
