"""Card-medium login (卡介质登录): ask for a challenge for a card, then log in with the card's SM2 signature of it.

The signature is made on the user's machine by the card agent (卡介质客户端控件, services/identity/card_agent/)
after the card's PIN; the session and its cookie are the same as a password login's.
"""

from __future__ import annotations

import msgspec
from litestar import Request, Response, post
from litestar.datastructures import Cookie

from gateway import apidoc
from gateway.deps import SESSION_COOKIE, call, decode_body
from gateway.routes.auth import LoggedIn, me_body
from shared.contracts import card, identity


class ChallengeIn(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    card_no: str


class ChallengeOut(msgspec.Struct, rename="camel"):
    challenge_id: str
    nonce: str  # hex: the bytes the card signs
    expires_in_seconds: int
    agent_url: str  # where the portal finds the card agent on this machine


class CardLoginIn(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    card_no: str
    challenge_id: str
    signature: str  # hex r‖s (64 bytes)


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


@post(
    "/api/v1/auth/card/challenge",
    summary="卡介质登录 step 1: a single-use nonce (256 bits, 2 minutes) for the card to sign",
    status_code=200,
    responses=apidoc.refusals(401, 404, 423, 429, write=True),
    operation_class=apidoc.json_body(ChallengeIn),
)
async def card_challenge(request: Request) -> Response[ChallengeOut]:
    body = await decode_body(request, ChallengeIn)
    result = await call(
        request,
        card.CARD_CHALLENGE,
        card.CardChallengeRequest(card_no=body.card_no, client_ip=_client_ip(request)),
        card.CardChallenge,
    )
    out = ChallengeOut(
        challenge_id=result.challenge_id,
        nonce=result.nonce_hex,
        expires_in_seconds=result.expires_in_seconds,
        agent_url=request.app.state.settings.card_agent_url,
    )
    return Response(out, headers={"Cache-Control": "no-store"})


@post(
    "/api/v1/auth/card/login",
    summary="卡介质登录 step 2: the card's SM2 signature (SM3, user id 1234567812345678) of the nonce; sets the "
    "session cookie",
    status_code=200,
    responses=apidoc.refusals(401, 423, 429, write=True),
    operation_class=apidoc.json_body(CardLoginIn),
)
async def card_login(request: Request) -> Response[LoggedIn]:
    body = await decode_body(request, CardLoginIn)
    session = await call(
        request,
        card.CARD_LOGIN,
        card.CardLoginCommand(
            card_no=body.card_no,
            challenge_id=body.challenge_id,
            signature_hex=body.signature,
            client_ip=_client_ip(request),
        ),
        identity.Session,
    )
    settings = request.app.state.settings
    cookie = Cookie(
        key=SESSION_COOKIE, value=session.token, httponly=True, secure=settings.cookie_secure, samesite="lax", path="/"
    )
    return Response(LoggedIn(message="登录成功", user=me_body(session.actor)), cookies=[cookie], status_code=200)


routes = [card_challenge, card_login]
