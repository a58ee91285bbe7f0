"""What each scope of the registry (scopes.py) lets a mini program do, in the words a consent sheet shows a user."""

from __future__ import annotations

DESCRIPTIONS: dict[str, str] = {
    "auth_base": "Know your wallet account ID",
    "USER_ID": "Know your wallet account ID",
    "auth_user": "See your basic profile: nickname, name, profile picture, gender, date of birth and nationality",
    "USER_NICKNAME": "See your nickname",
    "USER_NAME": "See your full name",
    "USER_AVATAR": "See your profile picture",
    "USER_GENDER": "See your gender",
    "USER_BIRTHDAY": "See your date of birth",
    "USER_NATIONALITY": "See your nationality",
    "USER_LOGIN_ID": "See the phone number or email you log in with, partly hidden",
    "PLAINTEXT_USER_LOGIN_ID": "See the phone number or email you log in with, in full",
    "HASH_LOGIN_ID": "Recognise you by a fingerprint of your login, without seeing the login itself",
    "USER_CONTACTINFO": "See your contact details (phone numbers, email), partly hidden",
    "PLAINTEXT_MOBILE_PHONE": "See your mobile phone number in full",
    "USER_ADDRESS": "See your addresses",
    "SEND_MESSAGE": "Send you messages",
}

OPEN_USER_INFO = "See your public profile: nickname, profile picture, gender and region"


def describe(scope: str) -> str:
    """The plain-words line for a scope; an unknown scope is shown as itself."""
    return DESCRIPTIONS.get(scope, scope)
