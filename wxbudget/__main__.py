from wxbudget.cli import main

main()
