from bench.crypto.run import main

main()
