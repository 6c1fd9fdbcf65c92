"""Email and webhook deliveries: recorded with the event that caused them, sent by a background job."""
