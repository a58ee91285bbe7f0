"""The wire: request models, the result envelope, and the API Gateway resolvers."""
