from edgebox.cli import main

main()
