"""Runs a command-line tool of the build with a time limit (shared by the CLI tests)."""
import os
import subprocess


def run(argv, env_extra=None, drop_env_prefix=None, timeout=60):
    """Runs argv, returns subprocess.CompletedProcess with text stdout/stderr."""
    env = dict(os.environ)
    if drop_env_prefix:
        env = {k: v for k, v in env.items() if not k.startswith(drop_env_prefix)}
    env.update(env_extra or {})
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def describe(result):
    return (f"exit {result.returncode}\n--- stdout ---\n{result.stdout}"
            f"\n--- stderr ---\n{result.stderr}")
