"""A Vault HTTP API emulator for vsp's tests, written from
shared/specs/vault-api.md. Standard library only; see ../README.md."""
