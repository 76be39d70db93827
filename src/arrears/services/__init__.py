"""Services: use cases that span packages (store, strategy, compliance, channels).

The CLI and the web app call these; they take a workspace or a unit of work, never a
request or a console.
"""
