"""Package metadata, read from settings.ini (the nbdev 2 template's setup.py, trimmed)."""
from configparser import ConfigParser
import setuptools

cfg = ConfigParser(delimiters=['='])
cfg.read('settings.ini')
cfg = cfg['DEFAULT']
licenses = {'mit': ('MIT License', 'OSI Approved :: MIT License')}
requirements = cfg.get('requirements', '').split()
dev_requirements = cfg.get('dev_requirements', '').split()
setuptools.setup(
    name=cfg['lib_name'], version=cfg['version'], license=licenses[cfg['license']][0],
    classifiers=['Development Status :: 3 - Alpha', 'Intended Audience :: Developers',
                 'License :: ' + licenses[cfg['license']][1], 'Natural Language :: English',
                 'Programming Language :: Python :: 3.11', 'Programming Language :: Python :: 3.12'],
    url=cfg['git_url'], packages=setuptools.find_packages(include=['cifake_nb', 'cifake_nb.*']),
    include_package_data=True, install_requires=requirements, extras_require={'dev': dev_requirements},
    python_requires='>=' + cfg['min_python'], long_description=open('README.md').read(),
    long_description_content_type='text/markdown', zip_safe=False,
    entry_points={'console_scripts': cfg.get('console_scripts', '').split('\n') if cfg.get('console_scripts') else [],
                  'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    description=cfg['description'], keywords=cfg['keywords'], author=cfg['author'], author_email=cfg['author_email'])
