from support import Api


def test_full_flow(api: Api) -> None:
    pair = api.tokens(["auth_user"])
    info = api.inquiry(pair["accessToken"])
    assert info.code == "SUCCESS", info.body
    assert info.body["userInfo"]["nickName"] == "Ana"
