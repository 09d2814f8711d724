"""The registry's operations, independent of HTTP: each takes a `Context` (the session, who
acts, how to mail) and raises the core's errors (NotFound, PermissionDenied, Conflict,
InvalidRequest) for anything the caller did wrong. Every change of state is audited and
announced by mail in the same transaction."""
