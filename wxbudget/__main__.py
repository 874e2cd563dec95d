from wxbudget.entry import main

main()
