from eagle3_monitor.cli import main

main()
