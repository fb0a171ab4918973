"""What each ``hibah`` command does, one module per group, imported by app/cli.py when the command runs.

A command imports only what it uses: ``keys create`` never loads the web app, uvicorn or Alembic, and
``--help`` loads none of this package.
"""
