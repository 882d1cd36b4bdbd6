"""Customers as the back office sees them: who they are, what they bought, their chats, points and consent.

It reads other areas through their public APIs and owns no table.
"""
