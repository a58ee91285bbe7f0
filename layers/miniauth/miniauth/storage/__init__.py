"""The one adapter that knows the DynamoDB tables."""
