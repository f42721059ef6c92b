-- Number 0013 belongs to another branch. This placeholder only keeps the numbering whole on
-- branch r17, whose migration is 0015; it is dropped when that branch's 0013 is merged, and is
-- never released.
SELECT 1;
