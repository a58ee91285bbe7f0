"""The audit after a load run: is every grant stored exactly as the merchants who drove it believe?

The server stores only SHA-256 digests of codes and tokens (contract section 3), so the plaintext secrets the
merchants hold are hashed here and looked up, row by row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from miniauth_sdk import TokenPair

from stored import AUTH_CODES, GRANTS, TOKENS, Tables


def digest(secret: str) -> str:
    # Computed here, not imported from the server, so a change in how it hashes shows up as a finding.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Held:
    """What one merchant holds after a complete flow: the code, the pair it got, and the pair refresh gave."""

    client_id: str
    app_id: str
    user_id: str
    auth_code: str
    first: TokenPair
    second: TokenPair


@dataclass
class Audit:
    flows: int
    as_believed: int = 0
    live_tokens: int = 0
    findings: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings and self.as_believed == self.flows

    def line(self) -> str:
        return f"audit {self.as_believed}/{self.flows} grants as believed, {self.live_tokens} live tokens, " + (
            "clean" if self.clean else f"{len(self.findings)} findings")


def audit(tables: Tables, held: list[Held], before: dict[str, set[str]]) -> Audit:
    """Compare the rows written since `before` (Tables.keys()) with what the merchants hold after revoking all."""
    rows = {table: {k: v for k, v in tables.scan(table).items() if k not in before[table]} for table in before}
    report = Audit(flows=len(held))
    expected = {AUTH_CODES: len(held), GRANTS: len(held), TOKENS: 4 * len(held)}
    for table, count in expected.items():
        if len(rows[table]) != count:
            report.findings.append(f"{table}: {len(rows[table])} new rows for {len(held)} flows, expected {count}")
    for flow in held:
        problems = _flow_findings(flow, rows)
        report.findings.extend(problems)
        report.as_believed += not problems
    epochs = tables.epochs()
    report.live_tokens = sum(_live(token, rows[GRANTS], epochs) for token in rows[TOKENS].values())
    if report.live_tokens:
        report.findings.append(f"{report.live_tokens} tokens are still live after every flow revoked its pair")
    report.findings.extend(_plaintext_findings(held, rows))
    return report


def _flow_findings(flow: Held, rows: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    where = f"code {digest(flow.auth_code)[:12]}"
    code = rows[AUTH_CODES].get(digest(flow.auth_code))
    if code is None:
        return [f"{where}: no AuthCodesTable row"]
    problems = _differences(where, code, status="REDEEMED", userId=flow.user_id, appId=flow.app_id,
                            authClientId=flow.client_id)
    if "redeemedAt" not in code:
        problems.append(f"{where}: redeemed but no redeemedAt")
    grant = rows[GRANTS].get(code["grantId"])
    if grant is None:
        return [*problems, f"{where}: its grant {code['grantId'][:12]} is not in GrantsTable"]
    # Revoked by the client, holding the pair the refresh gave, with the rotation from the first pair recorded.
    problems += _differences(
        where, grant, status="REVOKED", revokeReason="REVOKED_BY_CLIENT", userId=flow.user_id, appId=flow.app_id,
        authClientId=flow.client_id, epoch=code.get("epoch"), accessHash=digest(flow.second.access_token),
        refreshHash=digest(flow.second.refresh_token), prevRefreshHash=digest(flow.first.refresh_token),
    )
    problems += [f"{where}: grant has no {name}" for name in ("revokedAt", "rotatedAt") if name not in grant]
    tokens = [("ACCESS", flow.first.access_token, False), ("REFRESH", flow.first.refresh_token, True),
              ("ACCESS", flow.second.access_token, False), ("REFRESH", flow.second.refresh_token, False)]
    for kind, secret, used in tokens:
        row = rows[TOKENS].get(digest(secret))
        if row is None:
            problems.append(f"{where}: a {kind} token the merchant holds has no TokensTable row")
            continue
        # Every token carries the consent epoch its grant (and code) was issued under: that is what a use checks.
        problems += _differences(where, row, kind=kind, grantId=code["grantId"], epoch=code.get("epoch"))
        if ("usedAt" in row) != used:
            expected = "set" if used else "unset"
            problems.append(f"{where}: {kind} token usedAt is {row.get('usedAt')!r}, expected {expected}")
    return problems


def _differences(where: str, row: dict[str, Any], **expected: str) -> list[str]:
    return [f"{where}: {name} is {row.get(name)!r}, expected {value!r}"
            for name, value in expected.items() if row.get(name) != value]


def _live(token: dict[str, Any], grants: dict[str, dict[str, Any]], epochs: dict[tuple[str, str], int]) -> bool:
    """A token is live while its grant is active, still names it as the current access or refresh token, and
    was issued under the (user, app) consent epoch in force (a withdrawal moves the epoch on)."""
    grant = grants.get(token["grantId"], {})
    withdrawn = int(grant.get("epoch", 0)) < epochs.get((grant.get("userId"), grant.get("appId")), 0)
    return (grant.get("status") == "ACTIVE" and not withdrawn
            and token["tokenHash"] in (grant.get("accessHash"), grant.get("refreshHash")))


def _plaintext_findings(held: list[Held], rows: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """No row may hold a code or token in the clear: only digests are ever stored."""
    secrets = {s for f in held for s in (f.auth_code, f.first.access_token, f.first.refresh_token,
                                          f.second.access_token, f.second.refresh_token)}
    leaked = sum(1 for table in rows.values() for row in table.values()
                 for value in row.values() if isinstance(value, str) and value in secrets)
    return [f"{leaked} stored attributes hold a plaintext code or token"] if leaked else []
