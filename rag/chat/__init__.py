"""Conversations: follow-up questions resolved against the earlier turns (to come)."""
