"""Wallet API getAuthCode: POST /wallet/getAuthCode (AWS_IAM: the wallet backend, for a signed-in user)."""

from miniauth.observability import AUTH_CODES_ISSUED, count
from miniauth.protocol.api import Answer, Routes, lambda_handler
from miniauth.protocol.envelope import V2, success
from miniauth.protocol.requests import GetAuthCodeRequest
from miniauth.runtime import wallet_service

app = Routes()


@app.post("/wallet/getAuthCode")
def get_auth_code(request: GetAuthCodeRequest) -> Answer:
    granted = wallet_service().get_auth_code(request.userId, request.appId, request.scopes, request.consentedScopes)
    count(AUTH_CODES_ISSUED)
    return success(
        V2,
        authCode=granted.auth_code,
        authSuccessScopes=granted.success_scopes,
        authErrorScopes=granted.error_scopes,
    )


# The store methods this function's handlers call: Lambda init warms their DynamoDB requests and no others.
STORE_CALLS = ("user", "app", "client", "consent", "issue_code", "record_consent")

handler = lambda_handler(app, STORE_CALLS)
