"""The card agent's command line: new-card, sign, public-key, demo-card and serve (see the package's docstring)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from services.identity import card_agent, sm2
from services.identity.card_agent.keyfile import CardError, demo_card_path, read_card, seal, sign_challenge, write_card
from services.identity.card_agent.server import serve

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_CARDS_DIR = ROOT / ".data" / "cards"
DEFAULT_PORT = 8765
DEFAULT_ORIGIN = "http://127.0.0.1:8000,http://localhost:8000"  # make run's portal, by either name


def new_card(args: argparse.Namespace) -> int:
    if args.card.exists():
        print(f"{args.card} exists; not overwritten", file=sys.stderr)
        return 1
    card = seal(args.card_no, sm2.generate_private_key(), args.pin)
    write_card(args.card, card)
    print(card["publicKey"])
    return 0


def sign(args: argparse.Namespace) -> int:
    print(sign_challenge(read_card(args.card), args.pin, args.challenge))
    return 0


def public_key(args: argparse.Namespace) -> int:
    print(read_card(args.card)["publicKey"])
    return 0


def demo_card(args: argparse.Namespace) -> int:
    print(demo_card_path(args.cards))
    return 0


def run_server(args: argparse.Namespace) -> int:
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
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m services.identity.card_agent", description=(card_agent.__doc__ or "").split("\n")[0]
    )
    sub = top.add_subparsers(dest="command", required=True)
    new = sub.add_parser("new-card", help="create a card key file and print its public key (hex, 04‖x‖y)")
    new.add_argument("--card", required=True, type=Path, help="the key file to write")
    new.add_argument("--card-no", required=True)
    new.add_argument("--pin", required=True)
    new.set_defaults(run=new_card)
    signing = sub.add_parser("sign", help="sign a challenge (hex) and print the signature r‖s (hex)")
    signing.add_argument("--card", required=True, type=Path)
    signing.add_argument("--pin", required=True)
    signing.add_argument("--challenge", required=True)
    signing.set_defaults(run=sign)
    pub = sub.add_parser("public-key", help="print a card's public key (hex)")
    pub.add_argument("--card", required=True, type=Path)
    pub.set_defaults(run=public_key)
    dem = sub.add_parser("demo-card", help="write the demo card of user demo (PIN 123456) and print its path")
    dem.add_argument("--cards", type=Path, default=DEFAULT_CARDS_DIR)
    dem.set_defaults(run=demo_card)
    _serve_command(sub)
    return top


def _serve_command(sub: argparse._SubParsersAction) -> None:
    srv = sub.add_parser("serve", help="answer the portal on 127.0.0.1")
    srv.add_argument("--cards", type=Path, default=DEFAULT_CARDS_DIR, help="directory of <cardNo>.card.json files")
    srv.add_argument("--port", type=int, default=int(os.environ.get("CARD_AGENT_PORT", DEFAULT_PORT)))
    srv.add_argument(
        "--origin",
        default=os.environ.get("CARD_AGENT_ORIGIN", DEFAULT_ORIGIN),
        help="the portal's origin(s), comma-separated",
    )
    srv.add_argument("--demo", action="store_true", help="also write the demo card into --cards if it is missing")
    srv.set_defaults(run=run_server)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except CardError as error:
        print(f"{error.code}: {error.message}", file=sys.stderr)
        return 2
    except (OSError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
