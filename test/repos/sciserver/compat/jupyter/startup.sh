echo jupyter
