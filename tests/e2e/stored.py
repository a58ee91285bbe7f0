"""Read-only access to a served API's embedded DynamoDB, for audits of what the server actually stored."""

from __future__ import annotations

from typing import Any

import boto3

# Locally every table is named after its template logical id.
AUTH_CODES, TOKENS, GRANTS, CONSENTS = "AuthCodesTable", "TokensTable", "GrantsTable", "ConsentsTable"
KEYS = {AUTH_CODES: "codeHash", TOKENS: "tokenHash", GRANTS: "grantId"}


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """A low-level DynamoDB item as attribute -> value ({"S": "x"} -> "x"; numbers stay strings)."""
    return {name: next(iter(typed.values())) for name, typed in item.items()}


class Tables:
    def __init__(self, endpoint_url: str) -> None:
        # The embedded database accepts any credentials; explicit ones keep a real AWS profile out of it.
        self.client = boto3.client("dynamodb", endpoint_url=endpoint_url, region_name="us-east-1",
                                   aws_access_key_id="local", aws_secret_access_key="local")

    def scan(self, table: str) -> dict[str, dict[str, Any]]:
        """Every row of a table, keyed by its hash key; consistent, so the last answered write is in it."""
        rows: dict[str, dict[str, Any]] = {}
        pages = self.client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
        for page in pages:
            for item in page["Items"]:
                row = plain(item)
                rows[row[KEYS[table]]] = row
        return rows

    def get(self, table: str, key: str) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=table, Key={KEYS[table]: {"S": key}}, ConsistentRead=True)
        return plain(item["Item"]) if "Item" in item else None

    def epochs(self) -> dict[tuple[str, str], int]:
        """The consent epoch of every (userId, appId) with a consent item; any other pair is at epoch 0."""
        pages = self.client.get_paginator("scan").paginate(TableName=CONSENTS, ConsistentRead=True)
        return {(row["userId"], row["appId"]): int(row.get("epoch", 0))
                for page in pages for row in map(plain, page["Items"])}

    def keys(self) -> dict[str, set[str]]:
        """The keys each audited table holds now: taken before a run, so the audit sees only that run's rows."""
        return {table: set(self.scan(table)) for table in KEYS}
