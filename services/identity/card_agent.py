"""The card agent (卡介质客户端控件): a software card that signs login challenges on the user's own machine.

It stands in for the E-port card reader's client control. Each card is a key file holding the card's SM2 private
key encrypted under its PIN (scrypt → AES-256-GCM, the card number and public key bound in as associated data);
the key is never written in plain text and is decrypted only for the moment of a signature.

    python -m services.identity.card_agent new-card --card FILE --card-no NO --pin PIN   # prints the public key
    python -m services.identity.card_agent sign --card FILE --pin PIN --challenge HEX  # prints r‖s in hex
    python -m services.identity.card_agent demo-card --cards DIR                       # the demo card of `demo`
    python -m services.identity.card_agent serve [--cards DIR] [--port 8765] [--origin http://127.0.0.1:8000] [--demo]

`serve` answers the portal on 127.0.0.1 only: `POST /sign {cardNo, pin, challenge}` → `{cardNo, signature}`,
with CORS for the portal's origin alone (`--origin`, or CARD_AGENT_ORIGIN; several separated by commas). Cards are
the files `<cardNo>.card.json` in `--cards` (default `.data/cards`). Five wrong PINs in a row lock a card until the
agent is restarted, as a real card locks.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from services.identity import sm2
from shared import demo

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CARDS_DIR = ROOT / ".data" / "cards"
DEFAULT_PORT = 8765
DEFAULT_ORIGIN = "http://127.0.0.1:8000,http://localhost:8000"  # make run's portal, by either name
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MAX_PIN_TRIES = 5
MAX_CHALLENGE_BYTES = 256
FORMAT = "xianghui-card-v1"


class CardError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _kek(pin: str, salt: bytes, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(pin.encode())


def _aad(card_no: str, public_key: bytes) -> bytes:
    return f"{FORMAT}|{card_no}|".encode() + public_key


def seal(card_no: str, private_key: bytes, pin: str) -> dict[str, Any]:
    """The key file's content: the private key encrypted under the PIN."""
    if not sm2.valid_private_key(private_key):
        raise ValueError("not an SM2 private key")
    if not pin:
        raise ValueError("the PIN must not be empty")
    public_key = sm2.public_key(private_key)
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    sealed = AESGCM(_kek(pin, salt)).encrypt(nonce, private_key, _aad(card_no, public_key))
    return {
        "format": FORMAT,
        "cardNo": card_no,
        "publicKey": public_key.hex(),
        "kdf": {"name": "scrypt", "salt": salt.hex(), "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P},
        "cipher": {"name": "AES-256-GCM", "nonce": nonce.hex()},
        "encryptedKey": sealed.hex(),
    }


def unseal(card: dict[str, Any], pin: str) -> bytes:
    """The private key, or CardError PIN_WRONG."""
    kdf, public_key = card["kdf"], bytes.fromhex(card["publicKey"])
    kek = _kek(pin, bytes.fromhex(kdf["salt"]), kdf["n"], kdf["r"], kdf["p"])
    try:
        key = AESGCM(kek).decrypt(
            bytes.fromhex(card["cipher"]["nonce"]),
            bytes.fromhex(card["encryptedKey"]),
            _aad(card["cardNo"], public_key),
        )
    except InvalidTag:
        raise CardError(403, "PIN_WRONG", "PIN码错误") from None
    return key


def write_card(path: Path, card: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(card, out, indent=2)
    tmp.replace(path)


def read_card(path: Path) -> dict[str, Any]:
    card = json.loads(path.read_text())
    if card.get("format") != FORMAT:
        raise ValueError(f"{path}: not a card key file")
    return card


def sign_challenge(card: dict[str, Any], pin: str, challenge_hex: str) -> str:
    try:
        challenge = bytes.fromhex(challenge_hex.strip())
    except ValueError:
        raise CardError(400, "CHALLENGE_INVALID", "挑战码格式不正确") from None
    if not 0 < len(challenge) <= MAX_CHALLENGE_BYTES:
        raise CardError(400, "CHALLENGE_INVALID", "挑战码格式不正确")
    return sm2.sign(unseal(card, pin), challenge).hex()


def demo_card_path(cards_dir: Path, card: demo.DemoCard = demo.CARDS[0]) -> Path:
    """Writes the demo card's key file (if missing) and returns its path."""
    path = cards_dir / f"{card.card_no}.card.json"
    if not path.exists():
        write_card(path, seal(card.card_no, sm2.private_key_from_seed(card.key_seed), card.pin))
    return path


class Agent:
    """The cards in a directory, and their wrong-PIN counts (in memory)."""

    def __init__(self, cards_dir: Path, origins: frozenset[str]) -> None:
        self.cards_dir = cards_dir
        self.origins = origins
        self._wrong: dict[str, int] = {}
        self._lock = threading.Lock()

    def sign(self, card_no: str, pin: str, challenge: str) -> str:
        if not card_no or not card_no.replace("-", "").isalnum() or len(card_no) > 32:
            raise CardError(404, "CARD_NOT_FOUND", "未检测到该卡号的卡介质，请确认卡已插入")
        path = self.cards_dir / f"{card_no}.card.json"
        if not path.is_file():
            raise CardError(404, "CARD_NOT_FOUND", "未检测到该卡号的卡介质，请确认卡已插入")
        # The try is counted before the PIN is checked, under the lock: parallel requests cannot get more guesses.
        with self._lock:
            tries = self._wrong.get(card_no, 0)
            if tries >= MAX_PIN_TRIES:
                raise CardError(423, "CARD_LOCKED", "PIN码错误次数过多，卡已锁定")
            self._wrong[card_no] = tries = tries + 1
        try:
            signature = sign_challenge(read_card(path), pin, challenge)
        except CardError as error:
            if error.code == "PIN_WRONG":
                left = MAX_PIN_TRIES - tries
                raise CardError(
                    403, "PIN_WRONG", f"PIN码错误，还可尝试{left}次" if left else "PIN码错误，卡已锁定"
                ) from None
            with self._lock:  # not a PIN failure: the try does not count
                self._wrong[card_no] = max(self._wrong.get(card_no, 1) - 1, 0)
            raise
        with self._lock:
            self._wrong.pop(card_no, None)
        return signature


def make_handler(agent: Agent, port: int) -> type[BaseHTTPRequestHandler]:
    hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}

    class Handler(BaseHTTPRequestHandler):
        server_version = "xianghui-card-agent"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:
            pass  # never log PINs or challenges; the portal shows what matters

        def _origin_allowed(self) -> bool:
            origin = self.headers.get("Origin")
            return origin is None or origin in agent.origins

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            origin = self.headers.get("Origin")
            if origin and origin in agent.origins:
                self.send_header("Access-Control-Allow-Origin", origin)
                self.send_header("Vary", "Origin")
            self.end_headers()
            self.wfile.write(data)

        def _refuse_foreign(self) -> bool:
            # Host: a page that rebinds its own name to 127.0.0.1 is refused; Origin: only the portal may ask.
            if self.headers.get("Host") not in hosts:
                self._send(403, {"code": "FORBIDDEN_HOST", "message": "拒绝访问"})
                return True
            if not self._origin_allowed():
                self._send(403, {"code": "FORBIDDEN_ORIGIN", "message": "拒绝访问"})
                return True
            return False

        def do_OPTIONS(self) -> None:
            if self._refuse_foreign():
                return
            self.send_response(204)
            origin = self.headers.get("Origin")
            if origin:
                self.send_header("Access-Control-Allow-Origin", origin)
                self.send_header("Vary", "Origin")
            self.send_header("Access-Control-Allow-Methods", "GET, POST")
            self.send_header("Access-Control-Allow-Headers", "Content-Type")
            self.send_header("Access-Control-Allow-Private-Network", "true")
            self.send_header("Access-Control-Max-Age", "600")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            if self._refuse_foreign():
                return
            if self.path == "/health":
                self._send(200, {"status": "ok"})
            else:
                self._send(404, {"code": "NOT_FOUND", "message": "数据不存在"})

        def do_POST(self) -> None:
            if self._refuse_foreign():
                return
            if self.path != "/sign":
                self._send(404, {"code": "NOT_FOUND", "message": "数据不存在"})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                if not 0 < length <= 4096:
                    raise ValueError
                body = json.loads(self.rfile.read(length))
                card_no, pin, challenge = (str(body[k]) for k in ("cardNo", "pin", "challenge"))
            except (ValueError, KeyError, TypeError):
                self._send(400, {"code": "BAD_REQUEST", "message": "请求有误"})
                return
            try:
                signature = agent.sign(card_no.strip(), pin, challenge)
            except CardError as error:
                self._send(error.status, {"code": error.code, "message": error.message})
                return
            self._send(200, {"cardNo": card_no.strip(), "signature": signature})

    return Handler


def serve(cards_dir: Path, port: int, origins: frozenset[str]) -> ThreadingHTTPServer:
    """A server bound to 127.0.0.1 (not yet serving: call serve_forever)."""
    agent = Agent(cards_dir, origins)
    server = ThreadingHTTPServer(("127.0.0.1", port), BaseHTTPRequestHandler)
    server.RequestHandlerClass = make_handler(agent, server.server_port)  # the bound port, when 0 was asked for
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.identity.card_agent", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    new = sub.add_parser("new-card", help="create a card key file and print its public key (hex, 04‖x‖y)")
    new.add_argument("--card", required=True, type=Path, help="the key file to write")
    new.add_argument("--card-no", required=True)
    new.add_argument("--pin", required=True)
    sign = sub.add_parser("sign", help="sign a challenge (hex) and print the signature r‖s (hex)")
    sign.add_argument("--card", required=True, type=Path)
    sign.add_argument("--pin", required=True)
    sign.add_argument("--challenge", required=True)
    pub = sub.add_parser("public-key", help="print a card's public key (hex)")
    pub.add_argument("--card", required=True, type=Path)
    dem = sub.add_parser("demo-card", help="write the demo card of user demo (PIN 123456) and print its path")
    dem.add_argument("--cards", type=Path, default=DEFAULT_CARDS_DIR)
    srv = sub.add_parser("serve", help="answer the portal on 127.0.0.1")
    srv.add_argument("--cards", type=Path, default=DEFAULT_CARDS_DIR, help="directory of <cardNo>.card.json files")
    srv.add_argument("--port", type=int, default=int(os.environ.get("CARD_AGENT_PORT", DEFAULT_PORT)))
    srv.add_argument(
        "--origin",
        default=os.environ.get("CARD_AGENT_ORIGIN", DEFAULT_ORIGIN),
        help="the portal's origin(s), comma-separated",
    )
    srv.add_argument("--demo", action="store_true", help="also write the demo card into --cards if it is missing")
    args = parser.parse_args(argv)

    try:
        if args.command == "new-card":
            if args.card.exists():
                print(f"{args.card} exists; not overwritten", file=sys.stderr)
                return 1
            card = seal(args.card_no, sm2.generate_private_key(), args.pin)
            write_card(args.card, card)
            print(card["publicKey"])
        elif args.command == "sign":
            print(sign_challenge(read_card(args.card), args.pin, args.challenge))
        elif args.command == "public-key":
            print(read_card(args.card)["publicKey"])
        elif args.command == "demo-card":
            print(demo_card_path(args.cards))
        else:
            if args.demo:
                demo_card_path(args.cards)
            origins = frozenset(o.strip().rstrip("/") for o in args.origin.split(",") if o.strip())
            server = serve(args.cards, args.port, origins)
            cards = sorted(p.name.removesuffix(".card.json") for p in args.cards.glob("*.card.json"))
            print(
                f"card agent on http://127.0.0.1:{server.server_port} for {', '.join(sorted(origins))};"
                f" cards in {args.cards}: {', '.join(cards) or 'none'}",
                flush=True,
            )
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                pass
            finally:
                server.server_close()
    except CardError as error:
        print(f"{error.code}: {error.message}", file=sys.stderr)
        return 2
    except (OSError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
