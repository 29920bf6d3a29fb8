from .startup import main

main()
