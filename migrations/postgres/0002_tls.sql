-- What the TLS handshake showed (version, cipher, certificate names) for https gateways.
ALTER TABLE observations ADD COLUMN tls TEXT NOT NULL DEFAULT '';
