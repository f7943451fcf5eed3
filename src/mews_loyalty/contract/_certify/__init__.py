"""The certification rehearsal: Mews' self-test flows walked in the order its workflows run them, and
one printable page to bring to the joint review (``mews-loyalty certify reverse``).

    flows.py      the flows, what each sends and judges, and the evidence it keeps
    outcome.py    what a rehearsal did, its verdict and exit status
    rehearsal.py  a run put together: the folder, the client, the walk, the endings
    page.py       certification.html and certification.json
    command.py    the command
"""
