"""Local tooling: reading template.yaml, building tables and events like API Gateway does.

Never imported by a Lambda handler.
"""
