"""Experimental helpers that edit export directories: rewrite them with your own functions, or cut one model (and
the runs its versions need) out of an export-models / export-all directory."""
