-- Number 0013 belongs to another branch (k16: contacts in the store). This placeholder only keeps
-- the numbering whole on branch d16, whose notifications are 0014; it is dropped when that
-- branch's 0013 is merged, and is never released.
SELECT 1;
