"""`python -m agora`: the `agora` command."""

from agora.cli import main

if __name__ == "__main__":
    main()
