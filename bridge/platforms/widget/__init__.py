"""The web widget: its page and script, the WebSocket, uploads and downloads, and the hub of
the sockets this process holds."""
