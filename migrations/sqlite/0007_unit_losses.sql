-- What became of a unit's open ports: how many observations it stored (one per open port,
-- fingerprinted or kept unprobed), and how many answers the sweep could not keep (dropped by
-- the kernel's full receive queue, or SYN-ACKs after the wait for late answers). Units
-- finished before this migration stored one observation per open port. middleboxes counts a
-- unit's open ports whose host answered the sweep's control probes as well.
ALTER TABLE units ADD COLUMN stored INTEGER NOT NULL DEFAULT 0;
ALTER TABLE units ADD COLUMN answers_lost INTEGER NOT NULL DEFAULT 0;
ALTER TABLE units ADD COLUMN middleboxes INTEGER NOT NULL DEFAULT 0;
UPDATE units SET stored = open_ports;
