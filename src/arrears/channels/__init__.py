"""Contact channels: message templates, PDF letters, the transactional outbox, its
dispatcher and the channel adapters (SMTP email, HTTP SMS/push gateway, letter spool,
dialer list, file spool). See docs/channels.md."""
