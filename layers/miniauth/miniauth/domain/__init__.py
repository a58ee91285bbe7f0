"""The authorization domain: pure rules over a storage port; never imports boto3."""
