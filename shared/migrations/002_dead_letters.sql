-- Events a consumer could not apply after many deliveries: parked, never dropped, for a person to look at
-- and replay (publish the payload again with the same Nats-Msg-Id once the cause is fixed).
CREATE TABLE dead_letters (
    consumer  text        NOT NULL,
    event_id  text        NOT NULL,
    subject   text        NOT NULL,
    payload   bytea       NOT NULL,
    error     text        NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
