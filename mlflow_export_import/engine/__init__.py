"""The copy engine: a source and a destination tracking server, one matcher and one planner per object type.

Every object of the source is matched to its copy in the destination through the lineage an earlier copy or
import recorded (`mlflow_exim.*` tags), and the planner decides one action for it: create, finish (an earlier
copy stopped half-way), update (the source changed since), skip (equal), delete (gone from the source, only
with `delete=True`). A dry run reports the actions; a copy or a sync carries them out. `copy-*` and `sync` are
the same operation: a sync also updates what changed and, with --delete, propagates deletions.
"""
