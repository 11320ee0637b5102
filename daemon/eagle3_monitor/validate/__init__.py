"""Run validation: are the artifacts each task should leave there and usable?"""
