-- Number 0015 belongs to another branch (r17); a placeholder that keeps the numbering whole until it is merged.
SELECT 1;
