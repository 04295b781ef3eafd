from tracehound.cli.main import main

main()
