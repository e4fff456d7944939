from bench.share.run import main

main()
