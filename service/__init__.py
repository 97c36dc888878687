"""The FlowPilot analytics service: settings, auth, HTTP app and command line."""
