"""The insights page: the four analytics tabs drawn in the browser from the first-party queries."""
