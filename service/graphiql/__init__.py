"""The developer GraphiQL page and the pinned files it loads."""
