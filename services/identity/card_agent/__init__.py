"""The card agent (卡介质客户端控件): a software card that signs login challenges on the user's own machine.

It stands in for the E-port card reader's client control. Each card is a key file holding the card's SM2 private
key encrypted under its PIN (scrypt → AES-256-GCM, the card number and public key bound in as associated data);
the key is never written in plain text and is decrypted only for the moment of a signature (keyfile.py).

    python -m services.identity.card_agent new-card --card FILE --card-no NO --pin PIN   # prints the public key
    python -m services.identity.card_agent sign --card FILE --pin PIN --challenge HEX  # prints r‖s in hex
    python -m services.identity.card_agent demo-card --cards DIR                       # the demo card of `demo`
    python -m services.identity.card_agent serve [--cards DIR] [--port 8765] [--origin http://127.0.0.1:8000] [--demo]

`serve` answers the portal on 127.0.0.1 only (server.py): `POST /sign {cardNo, pin, challenge}` → `{cardNo,
signature}`, with CORS for the portal's origin alone (`--origin`, or CARD_AGENT_ORIGIN; several separated by
commas). Cards are the files `<cardNo>.card.json` in `--cards` (default `.data/cards`). Five wrong PINs in a row
lock a card until the agent is restarted, as a real card locks (agent.py).
"""
