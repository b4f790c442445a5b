"""HTTP connection limits shared by both servers (header size and count, read timeouts)."""
